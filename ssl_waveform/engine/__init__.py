"""ssl_waveform.engine."""
