/**
 * Union–find over 0..n−1 whose root is always the smallest member, so a set's root is its first
 * element and sets come out in first-element order (with path compression in `find`).
 */
export function createUnionFind(n: number): { find: (k: number) => number; union: (a: number, b: number) => void } {
  const parent = new Int32Array(n);
  for (let k = 0; k < n; k++) parent[k] = k;
  const find = (k: number): number => {
    let r = k;
    while (parent[r] !== r) r = parent[r];
    while (parent[k] !== r) {
      const next = parent[k];
      parent[k] = r;
      k = next;
    }
    return r;
  };
  const union = (a: number, b: number): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra < rb) parent[rb] = ra;
    else if (rb < ra) parent[ra] = rb;
  };
  return { find, union };
}
