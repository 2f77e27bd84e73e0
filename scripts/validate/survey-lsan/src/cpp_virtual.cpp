#include <cstdio>
#include <string>
#include <vector>
struct Shape {                       // BUG: no virtual destructor
    virtual double area() const = 0;
    ~Shape() {}
};
struct Poly : Shape {
    std::vector<double> xs, ys;
    std::string label;
    Poly(int n) : label("polygon-with-a-label-longer-than-sso") { for (int i = 0; i < n; i++) { xs.push_back(i); ys.push_back(i * i); } }
    double area() const override { return xs.size() * 1.0; }
};
struct Circle : Shape { double r = 2; double area() const override { return 3.14 * r * r; } };
int main() {
    Shape *shapes[3] = {new Poly(4), new Circle, new Poly(2)};
    double total = 0;
    for (Shape *s : shapes) total += s->area();
    for (Shape *s : shapes) delete s;   // Poly's members leak
    int *arr = new int[10]; arr[0] = 1; delete[] arr;
    std::printf("%.2f\n", total);
    return 0;
}
