"""The typed IR: the op table, hash-consed nodes and NumPy-exact typing."""
