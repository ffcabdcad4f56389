// Benign: classes with inheritance and a static factory.
class Animal {
  constructor(name) {
    this.name = name;
  }
  speak() {
    return `${this.name} makes a sound`;
  }
}
class Dog extends Animal {
  static of(name) {
    return new Dog(name);
  }
  speak() {
    return `${this.name} barks`;
  }
}
for (const a of [new Animal('Generic'), Dog.of('Rex')]) console.log(a.speak());
