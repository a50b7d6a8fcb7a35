"""`python -m ttsign`: the same command line as `ttsign`."""

from ttsign.cli import app

if __name__ == "__main__":
    app(prog_name="ttsign")
