"""ssl_waveform.models."""
