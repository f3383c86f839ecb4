"""ssl_waveform.transforms."""
