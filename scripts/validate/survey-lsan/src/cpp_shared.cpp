#include <cstdio>
#include <memory>
#include <string>
#include <vector>
struct Child;
struct Parent {
    std::string name;
    std::vector<std::shared_ptr<Child>> children;
    explicit Parent(std::string n) : name(std::move(n)) {}
};
struct Child {
    std::shared_ptr<Parent> parent;    // BUG: should be weak_ptr
    int id;
    Child(std::shared_ptr<Parent> p, int i) : parent(std::move(p)), id(i) {}
};
struct GoodChild { std::weak_ptr<Parent> parent; int id; };
static int build_family(int n) {
    auto p = std::make_shared<Parent>("the parent object with a long name");
    for (int i = 0; i < n; i++) p->children.push_back(std::make_shared<Child>(p, i));
    return (int)p->children.size();
}
static int build_good(int n) {
    auto p = std::make_shared<Parent>("good parent");
    std::vector<std::shared_ptr<GoodChild>> kids;
    for (int i = 0; i < n; i++) kids.push_back(std::shared_ptr<GoodChild>(new GoodChild{p, i}));
    return (int)kids.size();
}
int main() {
    int a = build_family(3);
    int b = build_good(4);
    std::printf("%d %d\n", a, b);
    return 0;
}
