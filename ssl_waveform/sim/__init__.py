"""ssl_waveform.sim."""
