#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
template <class V> class HashMap {
    struct Node { std::string key; V value; Node *next; };
    std::vector<Node *> buckets_;
    size_t size_ = 0;
public:
    explicit HashMap(size_t n) : buckets_(n, nullptr) {}
    ~HashMap() {}            // BUG: the nodes are never deleted (vector frees only the bucket array)
    void put(const std::string &k, V v) {
        size_t b = std::hash<std::string>{}(k) % buckets_.size();
        for (Node *n = buckets_[b]; n; n = n->next) if (n->key == k) { n->value = v; return; }
        buckets_[b] = new Node{k, v, buckets_[b]};
        size_++;
    }
    size_t size() const { return size_; }
    size_t used() const { size_t u = 0; for (auto *n : buckets_) u += n != nullptr; return u; }
};
int main() {
    size_t s, u;
    {
        HashMap<int> m(8);
        char buf[64];
        for (int i = 0; i < 6; i++) { std::snprintf(buf, sizeof buf, "a-fairly-long-key-so-the-string-allocates-%d", i); m.put(buf, i); }
        m.put("k", 1);
        s = m.size(); u = m.used();
    }
    std::printf("%zu %zu\n", s, u);
    return 0;
}
