// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPyth} from "@pythnetwork/pyth-sdk-solidity/IPyth.sol";
import {PythStructs} from "@pythnetwork/pyth-sdk-solidity/PythStructs.sol";

interface IERC20Like {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function transfer(address to, uint256 amount) external returns (bool);
    function decimals() external view returns (uint8);
}

/// @title Undertow's cross-margin perpetuals clearinghouse (a reference protocol for the keeper).
/// @notice One account = one portfolio: haircut collateral + settlement balance + unrealized PnL −
/// funding owed, against a maintenance margin tiered by notional and raised with volatility.
/// Units: prices and USD values are WAD (signed where they can be negative), sizes WAD of the base
/// asset, token amounts in the token's decimals. Every state change emits the resulting state.
contract Clearinghouse {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant BPS = 10_000;

    struct Collateral {
        address token;
        uint8 decimals;
        bytes32 feedId;
        uint256 baseHaircutBps;
        uint256 volHaircutFactorBps;
        uint256 maxHaircutBps;
        uint256 volatilityBps;
    }

    struct Band {
        /// Upper notional edge of the band (WAD USD); the last band is unbounded.
        uint256 notionalCap;
        uint256 mmrBps;
        uint256 imrBps;
        /// Computed so MM (and IM) are continuous at the edges (Binance's maintenance amount).
        uint256 mmAmount;
        uint256 imAmount;
    }

    struct Market {
        bytes32 feedId;
        uint256 volMarginFactorBps;
        uint256 volatilityBps;
        int256 fundingRatePerSecond;
        int256 fundingIndex;
        uint256 lastFundingUpdate;
        uint256 maxLiquidationNotional;
        uint256 bandCount;
    }

    struct Position {
        int256 size;
        int256 openNotional;
        int256 entryFundingIndex;
    }

    error NotOwner();
    error NotRisk();
    error UnknownAsset();
    error UnknownMarket();
    error BadPrice(bytes32 feedId);
    error InsufficientMargin(int256 netValue, uint256 initialMargin);
    error NotLiquidatable(int256 netValue, uint256 maintenanceMargin);
    error InsufficientBalance();
    error InsufficientFee();
    error TransferFailed();
    error BadBands();

    event CollateralAdded(uint256 indexed assetId, address token, uint8 decimals, bytes32 feedId, uint256 baseHaircutBps, uint256 volHaircutFactorBps, uint256 maxHaircutBps);
    event MarketAdded(uint256 indexed marketId, bytes32 feedId, uint256 volMarginFactorBps, uint256 maxLiquidationNotional, uint256 bandCount);
    event VolatilitySet(bool indexed isMarket, uint256 indexed id, uint256 volatilityBps);
    event FundingRateSet(uint256 indexed marketId, int256 ratePerSecond, int256 fundingIndex, uint256 timestamp);
    event Deposited(address indexed account, uint256 indexed assetId, uint256 amount, uint256 newBalance);
    event Withdrawn(address indexed account, uint256 indexed assetId, uint256 amount, uint256 newBalance);
    event PositionModified(
        address indexed account,
        uint256 indexed marketId,
        int256 sizeDelta,
        uint256 price,
        int256 newSize,
        int256 newOpenNotional,
        int256 entryFundingIndex,
        int256 newSettlementBalance
    );
    event Liquidated(
        address indexed account,
        address indexed liquidator,
        uint256 indexed marketId,
        int256 sizeClosed,
        uint256 price,
        uint256 reward,
        uint256 fromInsurance,
        int256 newSize,
        int256 newOpenNotional,
        int256 entryFundingIndex,
        int256 newSettlementBalance,
        int256 liquidatorSettlementBalance
    );
    event BadDebt(address indexed account, uint256 amount);
    event InsuranceFunded(uint256 amount, uint256 newBalance);

    IPyth public immutable pyth;
    address public owner;
    address public risk;
    uint256 public maxPriceAge;
    uint256 public bonusBps;
    uint256 public bufferBps;
    uint256 public minAccountMargin;
    uint256 public insuranceFund;

    Collateral[] internal collaterals;
    Market[] internal markets;
    mapping(uint256 => mapping(uint256 => Band)) internal bands;
    mapping(address => mapping(uint256 => uint256)) public balanceOf;
    mapping(address => int256) public settlementBalanceOf;
    mapping(address => mapping(uint256 => Position)) internal positions;

    constructor(IPyth pyth_, uint256 maxPriceAge_, uint256 bonusBps_, uint256 bufferBps_, uint256 minAccountMargin_) {
        pyth = pyth_;
        owner = msg.sender;
        risk = msg.sender;
        maxPriceAge = maxPriceAge_;
        bonusBps = bonusBps_;
        bufferBps = bufferBps_;
        minAccountMargin = minAccountMargin_;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    modifier onlyRisk() {
        if (msg.sender != risk) revert NotRisk();
        _;
    }

    // ───────────────────────────── configuration ─────────────────────────────

    function setRisk(address risk_) external onlyOwner {
        risk = risk_;
    }

    function addCollateral(address token, bytes32 feedId, uint256 baseHaircutBps, uint256 volHaircutFactorBps, uint256 maxHaircutBps)
        external
        onlyOwner
        returns (uint256 assetId)
    {
        uint8 decimals = IERC20Like(token).decimals();
        collaterals.push(Collateral(token, decimals, feedId, baseHaircutBps, volHaircutFactorBps, maxHaircutBps, 0));
        assetId = collaterals.length - 1;
        emit CollateralAdded(assetId, token, decimals, feedId, baseHaircutBps, volHaircutFactorBps, maxHaircutBps);
    }

    /// @param caps upper notional edges of all bands but the last (increasing), WAD USD
    function addMarket(
        bytes32 feedId,
        uint256 volMarginFactorBps,
        uint256 maxLiquidationNotional,
        uint256[] calldata caps,
        uint256[] calldata mmrBps,
        uint256[] calldata imrBps
    ) external onlyOwner returns (uint256 marketId) {
        uint256 n = mmrBps.length;
        if (n == 0 || imrBps.length != n || caps.length + 1 != n) revert BadBands();
        marketId = markets.length;
        markets.push(Market(feedId, volMarginFactorBps, 0, 0, 0, block.timestamp, maxLiquidationNotional, n));
        uint256 mmAmount;
        uint256 imAmount;
        for (uint256 k = 0; k < n; k++) {
            if (k > 0) {
                uint256 edge = caps[k - 1];
                if (mmrBps[k] < mmrBps[k - 1] || imrBps[k] < imrBps[k - 1] || (k > 1 && edge <= caps[k - 2])) revert BadBands();
                // Continuity at the edge: notional·r_k − a_k = notional·r_{k−1} − a_{k−1}.
                mmAmount += edge * (mmrBps[k] - mmrBps[k - 1]) / BPS;
                imAmount += edge * (imrBps[k] - imrBps[k - 1]) / BPS;
            }
            if (imrBps[k] < mmrBps[k]) revert BadBands();
            bands[marketId][k] = Band(k < n - 1 ? caps[k] : type(uint256).max, mmrBps[k], imrBps[k], mmAmount, imAmount);
        }
        emit MarketAdded(marketId, feedId, volMarginFactorBps, maxLiquidationNotional, n);
    }

    function setVolatility(bool isMarket, uint256 id, uint256 volatilityBps) external onlyRisk {
        if (isMarket) {
            if (id >= markets.length) revert UnknownMarket();
            markets[id].volatilityBps = volatilityBps;
        } else {
            if (id >= collaterals.length) revert UnknownAsset();
            collaterals[id].volatilityBps = volatilityBps;
        }
        emit VolatilitySet(isMarket, id, volatilityBps);
    }

    /// @notice A rate change checkpoints the index first, so past accrual keeps the old rate.
    function setFundingRate(uint256 marketId, int256 ratePerSecond) external onlyRisk {
        if (marketId >= markets.length) revert UnknownMarket();
        Market storage m = markets[marketId];
        m.fundingIndex = _fundingIndexAt(m, block.timestamp);
        m.lastFundingUpdate = block.timestamp;
        m.fundingRatePerSecond = ratePerSecond;
        emit FundingRateSet(marketId, ratePerSecond, m.fundingIndex, block.timestamp);
    }

    function fundInsurance(uint256 amount) external onlyOwner {
        insuranceFund += amount;
        emit InsuranceFunded(amount, insuranceFund);
    }

    // ───────────────────────────── views ─────────────────────────────

    function collateralCount() external view returns (uint256) {
        return collaterals.length;
    }

    function marketCount() external view returns (uint256) {
        return markets.length;
    }

    function getCollateral(uint256 assetId) external view returns (Collateral memory) {
        return collaterals[assetId];
    }

    function getMarket(uint256 marketId) external view returns (Market memory) {
        return markets[marketId];
    }

    function getBand(uint256 marketId, uint256 k) external view returns (Band memory) {
        return bands[marketId][k];
    }

    function getPosition(address account, uint256 marketId) external view returns (Position memory) {
        return positions[account][marketId];
    }

    function fundingIndexNow(uint256 marketId) external view returns (int256) {
        return _fundingIndexAt(markets[marketId], block.timestamp);
    }

    /// @notice Health at the stored prices (whatever their age) and the current block time.
    function accountHealth(address account) external view returns (int256 netValue, uint256 maintenanceMargin, uint256 initialMargin) {
        (uint256[] memory cp, uint256[] memory mp) = _prices(false);
        return _health(account, cp, mp);
    }

    /// @notice MM of one position at a price (the liquidation order and sizing use it).
    function positionMargins(uint256 marketId, int256 size, uint256 price) external view returns (uint256 mm, uint256 im) {
        return _positionMargins(marketId, size, price);
    }

    // ───────────────────────────── account actions ─────────────────────────────

    function deposit(uint256 assetId, uint256 amount) external {
        _deposit(assetId, amount);
    }

    /// @notice The issue's `deposit(address asset, uint256 amount)`.
    function deposit(address asset, uint256 amount) external {
        _deposit(_assetId(asset), amount);
    }

    function withdraw(address asset, uint256 amount, bytes[] calldata priceUpdate) external payable {
        uint256 assetId = _assetId(asset);
        _updatePrices(priceUpdate);
        uint256 balance = balanceOf[msg.sender][assetId];
        if (amount > balance) revert InsufficientBalance();
        balanceOf[msg.sender][assetId] = balance - amount;
        (uint256[] memory cp, uint256[] memory mp) = _prices(true);
        (int256 netValue,, uint256 im) = _health(msg.sender, cp, mp);
        if (netValue < int256(im)) revert InsufficientMargin(netValue, im);
        if (!IERC20Like(asset).transfer(msg.sender, amount)) revert TransferFailed();
        emit Withdrawn(msg.sender, assetId, amount, balance - amount);
    }

    function modifyPosition(uint256 marketId, int256 sizeDelta, bytes[] calldata priceUpdate) external payable {
        if (marketId >= markets.length) revert UnknownMarket();
        _updatePrices(priceUpdate);
        (uint256[] memory cp, uint256[] memory mp) = _prices(true);
        Position storage p = positions[msg.sender][marketId];
        int256 oldSize = p.size;
        _trade(msg.sender, marketId, sizeDelta, mp[marketId]);
        int256 newSize = p.size;
        bool increasesRisk = _abs(newSize) > _abs(oldSize) || (oldSize != 0 && newSize != 0 && (oldSize > 0) != (newSize > 0));
        if (increasesRisk) {
            (int256 netValue,, uint256 im) = _health(msg.sender, cp, mp);
            if (netValue < int256(im)) revert InsufficientMargin(netValue, im);
        }
        emit PositionModified(msg.sender, marketId, sizeDelta, mp[marketId], p.size, p.openNotional, p.entryFundingIndex, settlementBalanceOf[msg.sender]);
    }

    /// @notice Closes, at the oracle price, part of the position with the largest MM (ties: lowest
    /// marketId): the smallest size that brings netValue to MM × (1 + buffer), or all of it, capped at
    /// maxLiquidationNotional. The liquidator is credited closed notional × bonus as settlement balance.
    function liquidate(address account, bytes[] calldata priceUpdate)
        external
        payable
        returns (uint256 marketId, int256 sizeClosed, uint256 reward)
    {
        _updatePrices(priceUpdate);
        (uint256[] memory cp, uint256[] memory mp) = _prices(true);
        (int256 netValue, uint256 mm,) = _health(account, cp, mp);
        if (netValue >= int256(mm)) revert NotLiquidatable(netValue, mm);
        uint256 worstMm;
        marketId = type(uint256).max;
        for (uint256 i = 0; i < markets.length; i++) {
            int256 size = positions[account][i].size;
            if (size == 0) continue;
            (uint256 pm,) = _positionMargins(i, size, mp[i]);
            if (marketId == type(uint256).max || pm > worstMm) {
                worstMm = pm;
                marketId = i;
            }
        }
        uint256 price = mp[marketId];
        int256 size = positions[account][marketId].size;
        uint256 closeAbs = _closeSize(marketId, size, price, netValue, mm);
        uint256 capAbs = markets[marketId].maxLiquidationNotional * WAD / price;
        if (closeAbs > capAbs) closeAbs = capAbs;
        sizeClosed = size > 0 ? int256(closeAbs) : -int256(closeAbs);
        _trade(account, marketId, -sizeClosed, price);
        uint256 bonus = closeAbs * price / WAD * bonusBps / BPS;
        (reward,) = _payBonus(account, cp, mp, bonus);
        settlementBalanceOf[msg.sender] += int256(reward);
        Position storage p = positions[account][marketId];
        emit Liquidated(
            account, msg.sender, marketId, sizeClosed, price, reward, _lastFromInsurance,
            p.size, p.openNotional, p.entryFundingIndex, settlementBalanceOf[account], settlementBalanceOf[msg.sender]
        );
    }

    // ───────────────────────────── internals ─────────────────────────────

    uint256 internal _lastFromInsurance;

    function _deposit(uint256 assetId, uint256 amount) internal {
        if (assetId >= collaterals.length) revert UnknownAsset();
        if (!IERC20Like(collaterals[assetId].token).transferFrom(msg.sender, address(this), amount)) revert TransferFailed();
        uint256 balance = balanceOf[msg.sender][assetId] + amount;
        balanceOf[msg.sender][assetId] = balance;
        emit Deposited(msg.sender, assetId, amount, balance);
    }

    function _assetId(address asset) internal view returns (uint256) {
        for (uint256 i = 0; i < collaterals.length; i++) if (collaterals[i].token == asset) return i;
        revert UnknownAsset();
    }

    function _updatePrices(bytes[] calldata priceUpdate) internal {
        uint256 fee = 0;
        if (priceUpdate.length > 0) {
            fee = pyth.getUpdateFee(priceUpdate);
            if (msg.value < fee) revert InsufficientFee();
            pyth.updatePriceFeeds{value: fee}(priceUpdate);
        }
        if (msg.value > fee) {
            (bool ok,) = msg.sender.call{value: msg.value - fee}("");
            if (!ok) revert TransferFailed();
        }
    }

    function _toWad(PythStructs.Price memory p, bytes32 feedId) internal pure returns (uint256) {
        if (p.price <= 0 || p.expo > 0 || p.expo < -18) revert BadPrice(feedId);
        return uint256(uint64(p.price)) * 10 ** uint256(int256(18 + p.expo));
    }

    function _price(bytes32 feedId, bool fresh) internal view returns (uint256) {
        PythStructs.Price memory p = fresh ? pyth.getPriceNoOlderThan(feedId, maxPriceAge) : pyth.getPriceUnsafe(feedId);
        return _toWad(p, feedId);
    }

    function _prices(bool fresh) internal view returns (uint256[] memory cp, uint256[] memory mp) {
        cp = new uint256[](collaterals.length);
        mp = new uint256[](markets.length);
        for (uint256 i = 0; i < collaterals.length; i++) cp[i] = _price(collaterals[i].feedId, fresh);
        for (uint256 i = 0; i < markets.length; i++) mp[i] = _price(markets[i].feedId, fresh);
    }

    function _fundingIndexAt(Market storage m, uint256 t) internal view returns (int256) {
        return m.fundingIndex + m.fundingRatePerSecond * int256(t - m.lastFundingUpdate);
    }

    function _haircutBps(Collateral storage c) internal view returns (uint256) {
        uint256 h = c.baseHaircutBps + c.volHaircutFactorBps * c.volatilityBps / BPS;
        return h > c.maxHaircutBps ? c.maxHaircutBps : h;
    }

    function _positionMargins(uint256 marketId, int256 size, uint256 price) internal view returns (uint256 mm, uint256 im) {
        if (size == 0) return (0, 0);
        Market storage m = markets[marketId];
        uint256 notional = _abs(size) * price / WAD;
        uint256 k = 0;
        while (k + 1 < m.bandCount && notional > bands[marketId][k].notionalCap) k++;
        Band storage b = bands[marketId][k];
        uint256 rawMm = notional * b.mmrBps / BPS;
        uint256 rawIm = notional * b.imrBps / BPS;
        mm = rawMm > b.mmAmount ? rawMm - b.mmAmount : 0;
        im = rawIm > b.imAmount ? rawIm - b.imAmount : 0;
        uint256 raise = BPS + m.volMarginFactorBps * m.volatilityBps / BPS;
        mm = mm * raise / BPS;
        im = im * raise / BPS;
    }

    function _health(address account, uint256[] memory cp, uint256[] memory mp)
        internal
        view
        returns (int256 netValue, uint256 mm, uint256 im)
    {
        netValue = settlementBalanceOf[account];
        for (uint256 i = 0; i < collaterals.length; i++) {
            uint256 amount = balanceOf[account][i];
            if (amount == 0) continue;
            Collateral storage c = collaterals[i];
            uint256 value = amount * cp[i] / 10 ** c.decimals;
            netValue += int256(value * (BPS - _haircutBps(c)) / BPS);
        }
        bool open = false;
        for (uint256 i = 0; i < markets.length; i++) {
            Position storage p = positions[account][i];
            if (p.size == 0) continue;
            open = true;
            netValue += p.size * int256(mp[i]) / int256(WAD) - p.openNotional;
            netValue -= p.size * (_fundingIndexAt(markets[i], block.timestamp) - p.entryFundingIndex) / int256(WAD);
            (uint256 pm, uint256 pim) = _positionMargins(i, p.size, mp[i]);
            mm += pm;
            im += pim;
        }
        if (open) {
            mm += minAccountMargin;
            im += minAccountMargin;
        }
    }

    /// @dev Settles funding, then applies sizeDelta at `price`: a reduction realizes PnL pro rata of
    /// the open notional (truncated toward zero), a flip closes all and opens the rest.
    function _trade(address account, uint256 marketId, int256 sizeDelta, uint256 price) internal {
        Market storage m = markets[marketId];
        Position storage p = positions[account][marketId];
        int256 index = _fundingIndexAt(m, block.timestamp);
        int256 settlement = settlementBalanceOf[account] - p.size * (index - p.entryFundingIndex) / int256(WAD);
        p.entryFundingIndex = index;
        int256 size = p.size;
        int256 notional = p.openNotional;
        int256 px = int256(price);
        if (size == 0 || (size > 0) == (sizeDelta > 0)) {
            size += sizeDelta;
            notional += sizeDelta * px / int256(WAD);
        } else {
            int256 closing = _abs(sizeDelta) > _abs(size) ? -size : sizeDelta;
            // closing has the opposite sign of size; the notional closed is pro rata.
            int256 notionalClosed = notional * (-closing) / size;
            settlement += (-closing) * px / int256(WAD) - notionalClosed;
            notional -= notionalClosed;
            size += closing;
            int256 rest = sizeDelta - closing;
            if (rest != 0) {
                size = rest;
                notional = rest * px / int256(WAD);
            }
        }
        if (size == 0) notional = 0;
        p.size = size;
        p.openNotional = notional;
        settlementBalanceOf[account] = settlement;
    }

    /// @dev Smallest |size| to close (binary search, WAD units) such that
    /// netValue − bonus ≥ (MM − mm(size) + mm(size − closed)) × (1 + buffer); all of it otherwise.
    function _closeSize(uint256 marketId, int256 size, uint256 price, int256 netValue, uint256 mm)
        internal
        view
        returns (uint256)
    {
        uint256 total = _abs(size);
        (uint256 mmNow,) = _positionMargins(marketId, size, price);
        uint256 others = mm - mmNow;
        if (!_enough(marketId, size, total, price, netValue, others)) return total;
        uint256 lo = 0;
        uint256 hi = total;
        while (hi - lo > 1) {
            uint256 mid = (lo + hi) / 2;
            if (_enough(marketId, size, mid, price, netValue, others)) hi = mid;
            else lo = mid;
        }
        return hi;
    }

    function _enough(uint256 marketId, int256 size, uint256 closeAbs, uint256 price, int256 netValue, uint256 others)
        internal
        view
        returns (bool)
    {
        int256 remaining = size > 0 ? size - int256(closeAbs) : size + int256(closeAbs);
        (uint256 mmAfter,) = _positionMargins(marketId, remaining, price);
        uint256 bonus = closeAbs * price / WAD * bonusBps / BPS;
        uint256 required = (others + mmAfter) * (BPS + bufferBps) / BPS;
        return netValue - int256(bonus) >= int256(required);
    }

    /// @dev The account pays what its net value covers; the insurance fund the rest it can; the
    /// remainder is bad debt.
    function _payBonus(address account, uint256[] memory cp, uint256[] memory mp, uint256 bonus)
        internal
        returns (uint256 reward, uint256 badDebt)
    {
        (int256 netAfter,,) = _health(account, cp, mp);
        uint256 fromAccount = netAfter <= 0 ? 0 : (uint256(netAfter) < bonus ? uint256(netAfter) : bonus);
        settlementBalanceOf[account] -= int256(fromAccount);
        uint256 shortfall = bonus - fromAccount;
        uint256 fromInsurance = shortfall < insuranceFund ? shortfall : insuranceFund;
        insuranceFund -= fromInsurance;
        _lastFromInsurance = fromInsurance;
        reward = fromAccount + fromInsurance;
        badDebt = shortfall - fromInsurance;
        if (badDebt > 0) emit BadDebt(account, badDebt);
    }

    function _abs(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }
}

/// @notice A mintable ERC-20 for the devnet (any decimals).
contract DevToken {
    string public name;
    string public symbol;
    uint8 public decimals;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_, uint8 decimals_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }

    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
        emit Transfer(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) allowance[from][msg.sender] = allowed - amount;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
        return true;
    }
}
