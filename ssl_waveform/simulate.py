"""``python -m ssl_waveform.simulate``: write a simulated inverter corpus.

The entry point only; the command line is ``ssl_waveform.cli.simulate``. (The simulator itself is
``ssl_waveform.sim.simulate``.)
"""

from ssl_waveform.cli.simulate import main

if __name__ == "__main__":
    main()
