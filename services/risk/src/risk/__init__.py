"""The risk service: joint monitoring, early warning, automatic clues and credit classes."""
