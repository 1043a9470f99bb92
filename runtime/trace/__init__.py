"""Tracing: the event model, the recorder, the state intervals, the codec and the Chrome export.

Pure: nothing here does I/O or imports the dashboard. The agent (`runtime.agent`) and the
command line (`greenscope record/export`) put it to use.
"""
