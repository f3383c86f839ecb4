"""``python -m ssl_waveform.zoo [NAME]``: an alias of ``ssl-waveform encoders`` (``ssl_waveform.cli.encoders``)."""

from ssl_waveform.cli.encoders import main

if __name__ == "__main__":
    main()
