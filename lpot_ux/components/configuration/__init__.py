"""configuration of lpot_ux."""
