// Benign: number and date formatting with Intl.
const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const day = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'UTC' });
console.log(money.format(1234.5), day.format(new Date(Date.UTC(2024, 4, 1))));
