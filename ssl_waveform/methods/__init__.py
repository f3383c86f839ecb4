"""ssl_waveform.methods."""
