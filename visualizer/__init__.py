"""greenscope's dashboard and command line: `greenscope record`, `greenscope export`."""
