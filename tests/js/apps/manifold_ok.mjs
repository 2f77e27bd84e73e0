// Correct usage of manifold-3d 3.2.1: the same N cubes as manifold_leak.mjs, each `.delete()`d when done.
// Usage: node manifold_ok.mjs N
import Module from 'manifold-3d';

const wasm = await Module();
wasm.setup();
const { Manifold } = wasm;

const n = Number(process.argv[2] ?? 10);
for (let i = 0; i < n; i++) {
  const cube = Manifold.cube([1, 1, 1]);
  if (cube.volume() !== 1) throw new Error(`volume ${cube.volume()}`);
  cube.delete();
}
console.log(`manifold_ok x${n}: done`);
