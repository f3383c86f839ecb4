"""ssl_waveform.augment."""
