#include <cstdio>
#include <cstring>
#include <memory>
struct Buffer {
    size_t n; char *data;
    explicit Buffer(size_t n) : n(n), data(new char[n]) { std::memset(data, 'x', n); }
    ~Buffer() { delete[] data; }
};
struct Registry {
    Buffer *slots[4] = {};
    void adopt(int i, std::unique_ptr<Buffer> b) { slots[i] = b.release(); }
    ~Registry() { for (auto *b : slots) delete b; }
};
static size_t process(std::unique_ptr<Buffer> b) {
    size_t n = b->n;
    if (n > 100) {
        Buffer *raw = b.release();   // BUG: meant to hand it to someone, dropped instead
        (void)raw;
        return n;
    }
    return n;
}
int main() {
    Registry r;
    r.adopt(0, std::make_unique<Buffer>(64));
    r.adopt(1, std::make_unique<Buffer>(32));
    size_t a = process(std::make_unique<Buffer>(50));
    size_t b = process(std::make_unique<Buffer>(200));
    std::printf("%zu %zu\n", a, b);
    return 0;
}
