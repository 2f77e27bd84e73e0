// Leaking usage of manifold-3d 3.2.1 (a real Emscripten C++ package: Embind bindings, minified glue and
// exports, stripped .wasm): creates N cubes and drops them without calling `.delete()`. Embind objects are
// not garbage-collected (manifold's README: "You must manually delete() each object"), so each cube's C++
// Manifold and its mesh stay allocated.
// Usage: node manifold_leak.mjs N
import Module from 'manifold-3d';

const wasm = await Module();
wasm.setup();
const { Manifold } = wasm;

const n = Number(process.argv[2] ?? 10);
for (let i = 0; i < n; i++) {
  const cube = Manifold.cube([1, 1, 1]);
  if (cube.volume() !== 1) throw new Error(`volume ${cube.volume()}`); // use it, then forget it: no cube.delete()
}
console.log(`manifold_leak x${n}: done`);
