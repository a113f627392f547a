"""model of lpot_ux."""
