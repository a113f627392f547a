"""components of lpot_ux."""
