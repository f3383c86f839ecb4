"""ssl_waveform.benchmark."""
