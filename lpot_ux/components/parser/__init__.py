"""parser of lpot_ux."""
