"""runtime.pools: Pool and TokenPool, as eventlet.pools."""

from __future__ import annotations

import itertools

import pytest

import runtime
from runtime.pools import Pool, Token, TokenPool


def counting_pool(**kwargs) -> Pool:
    """A pool whose items are 0, 1, 2... in the order they were created."""
    return Pool(create=itertools.count().__next__, **kwargs)


def test_min_size_items_are_made_at_once_and_more_on_demand_up_to_max_size():
    pool = counting_pool(min_size=1, max_size=2)
    assert (pool.current_size, pool.free()) == (1, 2)
    assert [pool.get(), pool.get()] == [0, 1]
    assert (pool.current_size, pool.free()) == (2, 0)


def test_a_get_at_max_size_waits_for_a_put_and_getters_are_served_in_fifo_order():
    pool = counting_pool(max_size=2)
    a, b = pool.get(), pool.get()
    got = []
    getters = [runtime.spawn(lambda i=i: got.append((i, pool.get()))) for i in range(2)]
    runtime.sleep(0)
    assert pool.waiting() == 2
    pool.put(b)
    pool.put(a)
    for g in getters:
        g.wait()
    assert got == [(0, b), (1, a)]
    assert (pool.waiting(), pool.free(), pool.current_size) == (0, 0, 2)


def test_free_items_go_round_robin_or_most_recent_first():
    pool = counting_pool(max_size=3)
    items = [pool.get() for _ in range(3)]
    for it in items:
        pool.put(it)
    assert [pool.get(), pool.get()] == [0, 1]
    stack = counting_pool(max_size=3, order_as_stack=True)
    items = [stack.get() for _ in range(3)]
    for it in items:
        stack.put(it)
    assert [stack.get(), stack.get()] == [2, 1]


def test_item_puts_it_back_even_when_the_block_raises():
    pool = TokenPool(max_size=2)
    with pool.item() as token:
        assert isinstance(token, Token) and pool.free() == 1
    with pytest.raises(KeyError), pool.item():
        raise KeyError("in the block")
    assert pool.free() == 2


def test_growing_lets_waiting_getters_create_items_and_shrinking_drops_items_put_back():
    pool = counting_pool(max_size=1)
    held = pool.get()
    getters = [runtime.spawn(pool.get) for _ in range(2)]
    runtime.sleep(0)
    pool.resize(3)
    assert sorted(g.wait() for g in getters) == [1, 2]
    pool.resize(1)
    pool.put(held)  # 3 items for a size of 1: dropped
    assert (pool.current_size, pool.free()) == (2, -1)
    pool.put(1)
    pool.put(2)
    assert (pool.current_size, pool.free()) == (1, 1)


def test_a_create_that_raises_leaves_no_item_counted():
    def broken():
        raise OSError("cannot connect")

    pool = Pool(max_size=1, create=broken)
    with pytest.raises(OSError, match="cannot connect"):
        pool.get()
    assert (pool.current_size, pool.free()) == (0, 1)


def test_a_pool_needs_a_create():
    with pytest.raises(NotImplementedError, match="create"):
        Pool().get()

    class Numbers(Pool):
        def create(self) -> int:
            return 7

    assert Numbers().get() == 7


def test_bad_sizes_fail_at_construction():
    with pytest.raises(ValueError, match="Pool max_size must be >= 0"):
        Pool(max_size=-1)
    with pytest.raises(TypeError, match="Pool min_size must be an int"):
        Pool(min_size="1")
