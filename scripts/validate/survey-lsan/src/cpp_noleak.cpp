#include <algorithm>
#include <cstdio>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>
struct Item { std::string name; std::vector<double> values; };
int main() {
    std::unordered_map<std::string, std::unique_ptr<Item>> index;
    std::vector<std::string> order;
    for (int i = 0; i < 200; i++) {
        std::ostringstream os; os << "item-number-" << i << "-with-a-long-suffix";
        auto it = std::make_unique<Item>();
        it->name = os.str();
        for (int k = 0; k < i % 7; k++) it->values.push_back(k * 1.5);
        order.push_back(it->name);
        index.emplace(it->name, std::move(it));
    }
    std::sort(order.begin(), order.end(), std::greater<std::string>());
    std::map<size_t, std::set<std::string>> by_len;
    for (auto &s : order) by_len[s.size()].insert(s);
    std::deque<int> dq; std::list<std::shared_ptr<Item>> lst;
    for (int i = 0; i < 1000; i++) { dq.push_back(i); if (i % 3 == 0) dq.pop_front(); }
    for (int i = 0; i < 50; i++) lst.push_back(std::make_shared<Item>(Item{"x" + std::to_string(i), {1.0, 2.0}}));
    lst.remove_if([](const std::shared_ptr<Item> &p) { return p->name.size() > 2; });
    for (int i = 0; i < 100; i += 2) index.erase(order[i]);
    std::printf("%zu %zu %zu %zu\n", index.size(), by_len.size(), dq.size(), lst.size());
    return 0;
}
