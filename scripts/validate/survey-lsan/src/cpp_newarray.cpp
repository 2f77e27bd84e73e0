#include <cstdio>
#include <cstdint>
#include <string>
struct Cell { std::string name; int v; Cell() : name("cell-name-long-enough-for-heap-xx"), v(0) {} ~Cell() {} };
static Cell *g_cells;                 // interior pointer (past the array cookie) in a global: reachable
static uintptr_t g_tagged;            // pointer with a tag in the low bit: still points inside
static Cell *make(int n) { return new Cell[n]; }
int main() {
    g_cells = make(3);
    Cell *lost = make(2);             // leaked with its strings
    lost[1].v = 5;
    int *plain = new int[7];          // trivially destructible: no cookie
    plain[0] = lost[1].v;
    g_tagged = reinterpret_cast<uintptr_t>(new double[4]) | 1;
    Cell *ok = make(4); delete[] ok;
    std::printf("%d %d\n", g_cells[2].v, plain[0]);
    lost = nullptr; plain = nullptr;
    return 0;
}
