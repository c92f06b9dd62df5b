"""Glossarian: a self-hosted bilingual assistant for deep-learning glossary questions."""
__version__ = "0.1.0"
