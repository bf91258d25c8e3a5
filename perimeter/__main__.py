"""``python -m perimeter``: the same as the ``perimeter`` command."""

from perimeter.cli import app

app(prog_name="perimeter")
