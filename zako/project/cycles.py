"""Dependency cycles in the target graph, found in linear time.

A graph of 10,000 packages can hold a dependency chain far deeper than
Python's recursion limit, so both passes are iterative: Tarjan's strongly
connected components, then one breadth-first search inside each component
that has a cycle. Every cycle is reported once per component, as Bazel
does, and not once per elementary cycle: a component with many
interlocking cycles is one fault to fix, and listing every elementary
cycle can take exponential time.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["strongly_connected", "find_cycles"]


def strongly_connected(succ: Sequence[Sequence[int]]) -> list[list[int]]:
    """The strongly connected components of the graph ``succ`` (node ``i``
    has edges to ``succ[i]``, node numbers ``0 .. len(succ)-1``), in
    Tarjan's order (a component comes after every component it reaches).
    Cost: O(nodes + edges), no recursion."""
    n = len(succ)
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(n):
        if index[root] >= 0:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        # (node, position of its next edge to look at): the recursion's frames
        work = [(root, 0)]
        while work:
            v, i = work[-1]
            edges = succ[v]
            if i < len(edges):
                work[-1] = (v, i + 1)
                w = edges[i]
                if index[w] < 0:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, 0))
                elif on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
                continue
            work.pop()
            if work:
                u = work[-1][0]
                if low[v] < low[u]:
                    low[u] = low[v]
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    component.append(w)
                    if w == v:
                        break
                components.append(component)
    return components


def find_cycles(succ: Sequence[Sequence[int]]) -> list[list[int]]:
    """One cycle for each component that has one (a node with an edge to
    itself counts), as the list of its nodes in edge order: it starts at the
    component's lowest node and is the shortest cycle through it, so the
    answer depends only on the graph, not on traversal order. The closing
    edge goes from the last node back to the first. Sorted by first node.
    Cost: O(nodes + edges)."""
    cycles: list[list[int]] = []
    component_of = [-1] * len(succ)
    for c, component in enumerate(strongly_connected(succ)):
        if len(component) == 1:
            v = component[0]
            if v in succ[v]:
                cycles.append([v])
            continue
        for v in component:
            component_of[v] = c
        start = min(component)
        parent = {start: start}
        queue = [start]
        found = None
        for v in queue:  # breadth-first: the queue grows while it is walked
            for w in succ[v]:
                if w == start:
                    found = v
                    break
                if component_of[w] == c and w not in parent:
                    parent[w] = v
                    queue.append(w)
            if found is not None:
                break
        # Inside a strongly connected component the start always reaches
        # itself again.
        assert found is not None
        path = [found]
        while path[-1] != start:
            path.append(parent[path[-1]])
        path.reverse()
        cycles.append(path)
    cycles.sort(key=lambda cycle: cycle[0])
    return cycles
