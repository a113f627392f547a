"""benchmark of lpot_ux."""
