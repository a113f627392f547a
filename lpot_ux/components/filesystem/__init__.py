"""filesystem of lpot_ux: browse folders for model files."""
