"""The typed IR: the op table, hash-consed nodes, operand kinds, NumPy-exact typing, reductions.

* :mod:`.ops`: the op table, one row per operation (the whole truth about it);
* :mod:`.nodes`: immutable, hash-consed nodes carrying their dtype;
* :mod:`.operands`: what the Builder accepts besides nodes (weak scalars), and cache keys of values;
* :mod:`.typing`: the :class:`~fusenum.ir.typing.Builder`, NumPy 2's promotion and NEP 50;
* :mod:`.reductions`: the reduction table and axis rules.

Everything below the front ends reads this stage; it imports no other stage.
"""
