#include <cstdio>
#include <map>
#include <string>
#include <vector>
struct Session {
    std::string user;                       // long enough to be on the heap
    std::vector<int> scores;
    std::map<int, std::string> notes;
    Session(const char *u) : user(u) {}
};
static Session *open_session(const char *u) {
    Session *s = new Session(u);
    for (int i = 0; i < 5; i++) s->scores.push_back(i * 10);   // 1,2,4,8 capacity growth: one live buffer
    s->notes[1] = "first note that is definitely longer than the SSO buffer";
    s->notes[2] = "short";
    return s;
}
int main() {
    Session *a = open_session("alice-with-a-rather-long-user-name");
    Session *b = open_session("bob");
    std::printf("%s %zu %zu\n", a->user.c_str(), a->scores.size(), b->notes.size());
    delete b;
    a = nullptr;   // BUG: a is leaked with everything it owns
    return 0;
}
