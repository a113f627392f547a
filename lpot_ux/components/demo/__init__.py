"""demo of lpot_ux."""
