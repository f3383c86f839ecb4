"""Every command line of the library: argument parsing and messages only, the work is done by the packages.

``ssl-waveform COMMAND`` (``main.py``: the table of subcommands) runs ``cli/<command>.py``'s ``main``: ``simulate``,
``ingest``, ``corpus``, ``pretrain mae|simclr``, ``finetune``, ``predict``, ``export``, ``benchmark``,
``ablation NAME``, ``quickstart`` and ``encoders``. Each parses one typed config (``ssl_waveform.config.parse``)
and calls one library function that takes it. ``python -m ssl_waveform.<name>`` and
``recipes/pretrain_<method>.py`` are aliases of the same ``main``.
"""
