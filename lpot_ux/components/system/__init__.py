"""The machine lpot_ux runs on."""
