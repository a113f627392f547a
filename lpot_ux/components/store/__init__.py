"""store of lpot_ux."""
