// SPDX-License-Identifier: MIT
pragma solidity ^0.8.10;

/// Chainlink-style aggregator whose answer is moved by a transaction, so that a devnet price change is a
/// real pending transaction with a real AnswerUpdated event, as it would be on a live network.
contract SettableAggregator {
  event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
  event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

  address public immutable owner;
  uint8 public immutable decimals;
  string public description;
  int256 public latestAnswer;
  uint256 public latestTimestamp;
  uint256 public latestRound;

  constructor(int256 initialAnswer, uint8 decimals_, string memory description_) {
    owner = msg.sender;
    decimals = decimals_;
    description = description_;
    _set(initialAnswer);
  }

  function setAnswer(int256 answer) external {
    require(msg.sender == owner, 'only owner');
    _set(answer);
  }

  function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
    return (uint80(latestRound), latestAnswer, latestTimestamp, latestTimestamp, uint80(latestRound));
  }

  function _set(int256 answer) internal {
    require(answer > 0, 'answer must be positive');
    latestAnswer = answer;
    latestTimestamp = block.timestamp;
    latestRound += 1;
    emit AnswerUpdated(answer, latestRound, block.timestamp);
    emit NewRound(latestRound, msg.sender, block.timestamp);
  }
}

/// Batches read-only calls into one eth_call. Same interface as the widely deployed Multicall3
/// aggregate3, so viem's multicall can target it on a devnet that has none.
contract BatchReader {
  struct Call3 {
    address target;
    bool allowFailure;
    bytes callData;
  }

  struct Result {
    bool success;
    bytes returnData;
  }

  function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory results) {
    results = new Result[](calls.length);
    for (uint256 i = 0; i < calls.length; i++) {
      (bool ok, bytes memory data) = calls[i].target.call(calls[i].callData);
      require(ok || calls[i].allowFailure, 'call failed');
      results[i] = Result(ok, data);
    }
  }

  function getBlockNumber() external view returns (uint256) {
    return block.number;
  }
}

/// A PoolAddressesProvider and Pool in one that reports any POOL_REVISION and nothing else: lets
/// tests check that a Pool of an unknown version (or one whose interface does not match its
/// revision) is refused rather than mirrored with the wrong rules.
contract RevisionProbe {
  uint256 public immutable POOL_REVISION;

  constructor(uint256 revision) {
    POOL_REVISION = revision;
  }

  function getPool() external view returns (address) {
    return address(this);
  }

  function getPriceOracle() external view returns (address) {
    return address(this);
  }

  function getPoolConfigurator() external view returns (address) {
    return address(this);
  }

  function getReservesList() external pure returns (address[] memory list) {
    return list;
  }

  /// What a PoolAddressesProvider calls on a new Pool implementation (upgradeToAndCall).
  function initialize(address) external {}
}

/// An exchange-rate source whose rate moves silently (as wstETH's stEthPerToken does): no event, so a
/// mirror that only listens to logs cannot see it move.
contract SettableRate {
  address public immutable owner;
  uint256 public getRate;

  constructor(uint256 rate) {
    owner = msg.sender;
    getRate = rate;
  }

  function setRate(uint256 rate) external {
    require(msg.sender == owner, 'only owner');
    getRate = rate;
  }
}

interface ILatestAnswer {
  function latestAnswer() external view returns (int256);

  function decimals() external view returns (uint8);
}

/// An exchange-rate price adapter with the interface of Aave's CAPO ratio adapters: price = an
/// underlying USD feed x (rate, capped at a snapshot that grows linearly per second) / 10^RATIO_DECIMALS.
/// Nothing is emitted when the rate or the underlying feed moves.
contract RatioCapAdapter {
  event CapParametersUpdated(
    uint256 snapshotRatio,
    uint256 snapshotTimestamp,
    uint256 maxRatioGrowthPerSecond,
    uint16 maxYearlyRatioGrowthPercent
  );

  address public immutable owner;
  ILatestAnswer public immutable BASE_TO_USD_AGGREGATOR;
  address public immutable RATIO_PROVIDER;
  uint8 public immutable DECIMALS;
  uint8 public immutable RATIO_DECIMALS;
  string public description;

  uint104 private snapshotRatio;
  uint48 private snapshotTimestamp;
  uint104 private maxRatioGrowthPerSecond;
  uint16 private maxYearlyRatioGrowthPercent;

  constructor(
    address baseFeed,
    address rateProvider,
    uint8 rateDecimals,
    string memory description_,
    uint104 snapshotRatio_,
    uint48 snapshotTimestamp_,
    uint16 maxYearlyGrowthBps
  ) {
    owner = msg.sender;
    BASE_TO_USD_AGGREGATOR = ILatestAnswer(baseFeed);
    RATIO_PROVIDER = rateProvider;
    DECIMALS = ILatestAnswer(baseFeed).decimals();
    RATIO_DECIMALS = rateDecimals;
    description = description_;
    _setCap(snapshotRatio_, snapshotTimestamp_, maxYearlyGrowthBps);
  }

  function decimals() external view returns (uint8) {
    return DECIMALS;
  }

  function getRatio() public view returns (int256) {
    return int256(SettableRate(RATIO_PROVIDER).getRate());
  }

  function getSnapshotRatio() external view returns (uint256) {
    return snapshotRatio;
  }

  function getSnapshotTimestamp() external view returns (uint256) {
    return snapshotTimestamp;
  }

  function getMaxRatioGrowthPerSecond() external view returns (uint256) {
    return maxRatioGrowthPerSecond;
  }

  function setCapParameters(uint104 snapshotRatio_, uint48 snapshotTimestamp_, uint16 maxYearlyGrowthBps) external {
    require(msg.sender == owner, 'only owner');
    _setCap(snapshotRatio_, snapshotTimestamp_, maxYearlyGrowthBps);
  }

  function latestAnswer() external view returns (int256) {
    int256 rate = getRatio();
    int256 base = BASE_TO_USD_AGGREGATOR.latestAnswer();
    if (base <= 0 || rate <= 0) return 0;
    int256 cap = int256(uint256(snapshotRatio) + uint256(maxRatioGrowthPerSecond) * (block.timestamp - snapshotTimestamp));
    if (cap < rate) rate = cap;
    return (base * rate) / int256(10 ** RATIO_DECIMALS);
  }

  function _setCap(uint104 ratio, uint48 timestamp, uint16 yearlyBps) internal {
    require(ratio > 0 && timestamp <= block.timestamp, 'bad snapshot');
    snapshotRatio = ratio;
    snapshotTimestamp = timestamp;
    maxYearlyRatioGrowthPercent = yearlyBps;
    maxRatioGrowthPerSecond = uint104((uint256(ratio) * yearlyBps) / 10_000 / 365 days);
    emit CapParametersUpdated(ratio, timestamp, maxRatioGrowthPerSecond, yearlyBps);
  }
}

/// A capped stablecoin price adapter with the interface of Aave's CAPO stable adapters: the underlying
/// USD feed's answer, never above the cap (0 when the feed is not positive).
contract StableCapAdapter {
  event PriceCapUpdated(int256 priceCap);

  address public immutable owner;
  ILatestAnswer public immutable ASSET_TO_USD_AGGREGATOR;
  uint8 public immutable decimals;
  string public description;
  int256 private priceCap;

  constructor(address feed, int256 cap, string memory description_) {
    owner = msg.sender;
    ASSET_TO_USD_AGGREGATOR = ILatestAnswer(feed);
    decimals = ILatestAnswer(feed).decimals();
    description = description_;
    priceCap = cap;
    emit PriceCapUpdated(cap);
  }

  function getPriceCap() external view returns (int256) {
    return priceCap;
  }

  function setPriceCap(int256 cap) external {
    require(msg.sender == owner, 'only owner');
    priceCap = cap;
    emit PriceCapUpdated(cap);
  }

  function latestAnswer() external view returns (int256) {
    int256 base = ASSET_TO_USD_AGGREGATOR.latestAnswer();
    if (base > priceCap) return priceCap;
    if (base <= 0) return 0;
    return base;
  }
}

/// The OP-stack GasPriceOracle's public interface (Ecotone fee formula), for a devnet whose node has
/// no L2 predeploys: its runtime code is placed at 0x420000000000000000000000000000000000000F, so the
/// daemon's client code reads the L1 data fee exactly as it does on OP Mainnet or Base.
contract DevGasPriceOracle {
  uint256 public constant DECIMALS = 6;
  uint256 public immutable l1BaseFee;
  uint256 public immutable blobBaseFee;
  uint32 public immutable baseFeeScalar;
  uint32 public immutable blobBaseFeeScalar;

  constructor(uint256 l1BaseFee_, uint256 blobBaseFee_, uint32 baseFeeScalar_, uint32 blobBaseFeeScalar_) {
    l1BaseFee = l1BaseFee_;
    blobBaseFee = blobBaseFee_;
    baseFeeScalar = baseFeeScalar_;
    blobBaseFeeScalar = blobBaseFeeScalar_;
  }

  function decimals() external pure returns (uint256) {
    return DECIMALS;
  }

  function isEcotone() external pure returns (bool) {
    return true;
  }

  /// The L1 data fee of a transaction whose unsigned RLP is `data` (the signature's 68 bytes are added).
  function getL1Fee(bytes calldata data) external view returns (uint256) {
    uint256 gas = 68 * 16;
    for (uint256 i = 0; i < data.length; i++) gas += data[i] == 0 ? 4 : 16;
    uint256 price = uint256(baseFeeScalar) * 16 * l1BaseFee + uint256(blobBaseFeeScalar) * blobBaseFee;
    return (gas * price) / (16 * 10 ** DECIMALS);
  }
}
