/**
 * Typed ABIs (human-readable, checked by viem at compile time) for the parts of Aave v3 that the
 * strategy reads, decodes or calls. Signatures match `@aave/core-v3` 1.19.3 (Aave v3.0.2) and, where
 * marked by the version that added them, aave-v3-origin 3.6.
 */
import { parseAbi } from 'viem'

export const poolAbi = parseAbi([
  'struct ReserveConfigurationMap { uint256 data; }',
  'struct ReserveData { ReserveConfigurationMap configuration; uint128 liquidityIndex; uint128 currentLiquidityRate; uint128 variableBorrowIndex; uint128 currentVariableBorrowRate; uint128 currentStableBorrowRate; uint40 lastUpdateTimestamp; uint16 id; address aTokenAddress; address stableDebtTokenAddress; address variableDebtTokenAddress; address interestRateStrategyAddress; uint128 accruedToTreasury; uint128 unbacked; uint128 isolationModeTotalDebt; }',
  'struct EModeCategory { uint16 ltv; uint16 liquidationThreshold; uint16 liquidationBonus; address priceSource; string label; }',
  'function POOL_REVISION() view returns (uint256)',
  'function ADDRESSES_PROVIDER() view returns (address)',
  'function getReservesList() view returns (address[])',
  'function getReserveData(address asset) view returns (ReserveData)',
  'function getConfiguration(address asset) view returns (ReserveConfigurationMap)',
  'function getUserConfiguration(address user) view returns (ReserveConfigurationMap)',
  'function getUserEMode(address user) view returns (uint256)',
  'function getEModeCategoryData(uint8 id) view returns (EModeCategory)',
  'function getEModeCategoryCollateralBitmap(uint8 id) view returns (uint128)',
  'function getEModeCategoryLtvzeroBitmap(uint8 id) view returns (uint128)',
  'function getLiquidationGracePeriod(address asset) view returns (uint40)',
  'function getReserveDeficit(address asset) view returns (uint256)',
  'function getUserAccountData(address user) view returns (uint256 totalCollateralBase, uint256 totalDebtBase, uint256 availableBorrowsBase, uint256 currentLiquidationThreshold, uint256 ltv, uint256 healthFactor)',
  'function getReserveNormalizedIncome(address asset) view returns (uint256)',
  'function getReserveNormalizedVariableDebt(address asset) view returns (uint256)',
  'function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode)',
  'function withdraw(address asset, uint256 amount, address to) returns (uint256)',
  'function borrow(address asset, uint256 amount, uint256 interestRateMode, uint16 referralCode, address onBehalfOf)',
  'function repay(address asset, uint256 amount, uint256 interestRateMode, address onBehalfOf) returns (uint256)',
  'function repayWithATokens(address asset, uint256 amount, uint256 interestRateMode) returns (uint256)',
  'function setUserUseReserveAsCollateral(address asset, bool useAsCollateral)',
  'function setUserEMode(uint8 categoryId)',
  'function liquidationCall(address collateralAsset, address debtAsset, address user, uint256 debtToCover, bool receiveAToken)',
  'event ReserveDataUpdated(address indexed reserve, uint256 liquidityRate, uint256 stableBorrowRate, uint256 variableBorrowRate, uint256 liquidityIndex, uint256 variableBorrowIndex)',
  'event Supply(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount, uint16 indexed referralCode)',
  'event Withdraw(address indexed reserve, address indexed user, address indexed to, uint256 amount)',
  'event Borrow(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount, uint8 interestRateMode, uint256 borrowRate, uint16 indexed referralCode)',
  'event Repay(address indexed reserve, address indexed user, address indexed repayer, uint256 amount, bool useATokens)',
  'event LiquidationCall(address indexed collateralAsset, address indexed debtAsset, address indexed user, uint256 debtToCover, uint256 liquidatedCollateralAmount, address liquidator, bool receiveAToken)',
  'event ReserveUsedAsCollateralEnabled(address indexed reserve, address indexed user)',
  'event ReserveUsedAsCollateralDisabled(address indexed reserve, address indexed user)',
  'event UserEModeSet(address indexed user, uint8 categoryId)',
  'event SwapBorrowRateMode(address indexed reserve, address indexed user, uint8 interestRateMode)',
  'event DeficitCreated(address indexed user, address indexed debtAsset, uint256 amountCreated)',
  'event DeficitCovered(address indexed reserve, address caller, uint256 amountCovered)',
  'event FlashLoan(address indexed target, address initiator, address indexed asset, uint256 amount, uint8 interestRateMode, uint256 premium, uint16 indexed referralCode)',
])

/** Events shared by the aToken and the variable debt token (ScaledBalanceTokenBase). */
export const scaledTokenAbi = parseAbi([
  'event Mint(address indexed caller, address indexed onBehalfOf, uint256 value, uint256 balanceIncrease, uint256 index)',
  'event Burn(address indexed from, address indexed target, uint256 value, uint256 balanceIncrease, uint256 index)',
  'event BalanceTransfer(address indexed from, address indexed to, uint256 value, uint256 index)',
  'function scaledBalanceOf(address user) view returns (uint256)',
  'function balanceOf(address user) view returns (uint256)',
  'function UNDERLYING_ASSET_ADDRESS() view returns (address)',
])

export const stableDebtTokenAbi = parseAbi([
  'event Mint(address indexed user, address indexed onBehalfOf, uint256 amount, uint256 currentBalance, uint256 balanceIncrease, uint256 newRate, uint256 avgStableRate, uint256 newTotalSupply)',
  'event Burn(address indexed from, uint256 amount, uint256 currentBalance, uint256 balanceIncrease, uint256 avgStableRate, uint256 newTotalSupply)',
  'function principalBalanceOf(address user) view returns (uint256)',
  'function getUserStableRate(address user) view returns (uint256)',
  'function getUserLastUpdated(address user) view returns (uint40)',
])

export const addressesProviderAbi = parseAbi([
  'function getPool() view returns (address)',
  'function getPriceOracle() view returns (address)',
  'function getPoolConfigurator() view returns (address)',
  'function getPoolDataProvider() view returns (address)',
  'function getACLManager() view returns (address)',
  'function getMarketId() view returns (string)',
  'event PoolUpdated(address indexed oldAddress, address indexed newAddress)',
  'event PriceOracleUpdated(address indexed oldAddress, address indexed newAddress)',
  'event PoolConfiguratorUpdated(address indexed oldAddress, address indexed newAddress)',
])

/** The Pool and configurator proxies (BaseUpgradeabilityProxy) announce a new implementation. */
export const proxyAbi = parseAbi(['event Upgraded(address indexed implementation)'])

export const aaveOracleAbi = parseAbi([
  'function getAssetPrice(address asset) view returns (uint256)',
  'function getAssetsPrices(address[] assets) view returns (uint256[])',
  'function getSourceOfAsset(address asset) view returns (address)',
  'function getFallbackOracle() view returns (address)',
  'function BASE_CURRENCY_UNIT() view returns (uint256)',
  'event AssetSourceUpdated(address indexed asset, address indexed source)',
  'event FallbackOracleUpdated(address indexed fallbackOracle)',
  'event BaseCurrencySet(address indexed baseCurrency, uint256 baseCurrencyUnit)',
])

export const aggregatorAbi = parseAbi([
  'function latestAnswer() view returns (int256)',
  'function decimals() view returns (uint8)',
  'function setAnswer(int256 answer)',
  'event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt)',
])

export const poolConfiguratorAbi = parseAbi([
  'event ReserveInitialized(address indexed asset, address indexed aToken, address stableDebtToken, address variableDebtToken, address interestRateStrategyAddress)',
  'event CollateralConfigurationChanged(address indexed asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus)',
  'event ReserveBorrowing(address indexed asset, bool enabled)',
  'event ReserveStableRateBorrowing(address indexed asset, bool enabled)',
  'event ReserveActive(address indexed asset, bool active)',
  'event ReserveFrozen(address indexed asset, bool frozen)',
  'event ReservePaused(address indexed asset, bool paused)',
  'event ReserveDropped(address indexed asset)',
  'event ReserveFactorChanged(address indexed asset, uint256 oldReserveFactor, uint256 newReserveFactor)',
  'event DebtCeilingChanged(address indexed asset, uint256 oldDebtCeiling, uint256 newDebtCeiling)',
  'event LiquidationProtocolFeeChanged(address indexed asset, uint256 oldFee, uint256 newFee)',
  'event EModeAssetCategoryChanged(address indexed asset, uint8 oldCategoryId, uint8 newCategoryId)',
  'event EModeCategoryAdded(uint8 indexed categoryId, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus, address oracle, string label)',
  'event BorrowableInIsolationChanged(address asset, bool borrowable)',
  'event SiloedBorrowingChanged(address indexed asset, bool oldState, bool newState)',
  'event LiquidationGracePeriodChanged(address indexed asset, uint40 gracePeriodUntil)',
  'event LiquidationGracePeriodDisabled(address indexed asset)',
  'event AssetCollateralInEModeChanged(address indexed asset, uint8 categoryId, bool collateral)',
  'event AssetLtvzeroInEModeChanged(address indexed asset, uint8 categoryId, bool ltvzero)',
  'event ReserveInterestRateStrategyChanged(address indexed asset, address oldStrategy, address newStrategy)',
])

export const erc20Abi = parseAbi([
  'function balanceOf(address) view returns (uint256)',
  'function approve(address spender, uint256 amount) returns (bool)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function transfer(address to, uint256 amount) returns (bool)',
  'function decimals() view returns (uint8)',
  'function symbol() view returns (string)',
  'function mint(address account, uint256 value) returns (bool)',
])
