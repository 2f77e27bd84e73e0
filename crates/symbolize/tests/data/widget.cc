// Test input for wasmleak-symbolize (see build.sh). Line numbers are asserted by the tests: keep them.
namespace shapes {
struct Widget {
    int v;
    explicit Widget(int x) : v(x) {}
    static Widget *create(int x);
};

Widget *Widget::create(int x) {
    return new Widget(x);
}
} // namespace shapes

shapes::Widget *g_keep; // escapes: the `new` cannot be elided

int main(int argc, char **) {
    g_keep = shapes::Widget::create(argc);
    return g_keep->v;
}
