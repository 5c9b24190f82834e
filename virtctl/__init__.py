"""The virtnode command line (console script `virtctl`).

Owns argument parsing, reading manifests, and printing results for people and
scripts. Talks to the cluster only through the API (later issues) and reuses
protos/ and controller/admission for offline work such as `validate`. Never
does privileged host work itself.
"""

__version__ = "0.1.0"
