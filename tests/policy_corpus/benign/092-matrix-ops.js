// Benign: matrix multiplication and transpose.
const matmul = (a, b) => a.map((row) => b[0].map((_, j) => row.reduce((s, x, k) => s + x * b[k][j], 0)));
const transpose = (m) => m[0].map((_, j) => m.map((row) => row[j]));
const a = [[1, 2], [3, 4]];
console.log(matmul(a, transpose(a)));
