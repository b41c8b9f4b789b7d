"""Registry service: the directory of supervised objects (综合监管对象名录库) and dual notification (双告知)."""
