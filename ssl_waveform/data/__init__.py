"""ssl_waveform.data."""
