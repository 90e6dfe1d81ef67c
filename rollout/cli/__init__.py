"""Thin command-line entry points; behaviour lives in the engine and adapters."""
