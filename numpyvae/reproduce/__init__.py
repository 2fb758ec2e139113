"""Reproduction of Kingma & Welling 2013 ("Auto-Encoding Variational Bayes"), one command per figure.

Run ``python -m numpyvae.reproduce --help``; docs/reproduction.md describes the protocol and the
results. Nothing in the rest of the package imports this subpackage.
"""
