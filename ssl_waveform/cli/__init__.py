"""The command lines over the packages: argument parsing and messages only, the work is done by the packages.

Each is run as ``python -m ssl_waveform.<name>`` through a tiny entry module ``ssl_waveform/<name>.py``:

- ``corpus``: inspect, plot, verify and subset corpora (over ``data/``)
- ``ingest``: convert recordings or window arrays into a corpus (over ``data/``)
- ``simulate``: write a simulated corpus (over ``sim/``)
- ``quickstart``: simulate and fine-tune the shipped encoder vs scratch on built-in defaults (``make quickstart``)

``zoo`` lists the shipped pretrained encoders (``python -m ssl_waveform.zoo``, ``ssl_waveform/zoo/__main__.py``).

``finetune`` and ``benchmark`` are run as packages (their ``__main__``); ``predict`` and ``export`` are modules
that hold their own command line.
"""
