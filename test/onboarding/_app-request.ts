// A complete, valid app onboarding request (the golden tree robotique-site is rendered from it).
export const SAMPLE_REQUEST = {
  club: 'robotique',
  app: 'robotique-site',
  image: 'ghcr.io/clubcedille/robotique-site:1.4.2',
  port: 8080,
  environments: ['staging', 'prod'],
  hostnames: { staging: ['staging.robotique.cedille.club'], prod: ['robotique.cedille.club', 'www.robotique.cedille.club'] },
  replicas: { staging: 1, prod: 3 },
  resources: { prod: { requests: { cpu: '200m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } } },
  contacts: [{ name: 'Alice Tremblay', email: 'alice@example.org', github: 'alicet' }],
};
