export * from './format';
export * from './status';
export * from './keys';
export * from './requests';
export * from './clients';
export * from './models';
export * from './dashboard';
export * from './usageTable';
