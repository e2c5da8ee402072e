import { createExampleApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const { app } = createExampleApp();

app.listen(port, '127.0.0.1', () => {
  console.log(`express-mfa example app: http://localhost:${port}/`);
  console.log('Sign on as alice / alice-password: she pairs alice@example.test, and her codes are printed here.');
  console.log('Sign on as admin / admin-password: the policy lets the admin skip MFA.');
});
